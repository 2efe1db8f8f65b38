"""Loops whose iterations only add to sums (candidates for fused sweeps), and
near misses that must not be fused."""
import math



def mean_sq(w, b, X, y):                      # fused: `return L / n` needs only n
    n, d = X.shape
    L = 0.0
    for i in range(n):
        margin = b
        for j in range(d):
            margin += X[i, j] * w[j]
        L += math.log1p(math.exp(-(2.0 * y[i] - 1.0) * margin))
    return L / n


def mean_len(w, x):                           # fused, with `len(x)` hoisted before it
    s = 0.0
    t = 0.0
    for i in range(x.shape[0]):
        e = math.tanh(w * x[i])
        s += e * e
        t -= 0.5 * e
    m = len(x)
    return s / m + t * 2.0


def log_of_sum(w, x):                         # not fused: log needs the loop's sum
    s = 0.0
    for i in range(len(x)):
        s += math.exp(w * x[i])
    return math.log(s)


def carried(w, x):                            # not fused: q flows between iterations
    s = 0.0
    q = 1.0
    for i in range(len(x)):
        q = q * 0.5 + w * x[i]
        s += q * q
    return s


def branchy(w, b, x):                         # fused: branches and a while inside
    s = 0.0
    for i in range(len(x)):
        z = w * x[i] + b
        if z > 0.0:
            a = z * z
        else:
            a = math.sin(z)
        k = 0
        while a > 0.1 and k < 4:
            a = a * 0.7
            k += 1
        s += a * w
    return s * 3.0


def before_and_after(w, x):                   # fused: code before the loop needs w2
    w2 = w * w
    c = math.exp(w2)
    s = 0.0
    for i in range(len(x)):
        s += c * x[i] * w
    return s - w2 * c


def sum_read_by_while(w, x):                  # not fused: a while condition reads the sum
    s = 0.0
    for i in range(len(x)):
        k = 0
        while s < 1.0 and k < 3:
            k += 1
        s += w * x[i] * (k + 1)
    return s


def restored_sum(x, y, v):                    # fused: the sum y is also restored for line 1's backward
    y = y * math.tanh(v[0])
    for i in range(2):
        y -= x * math.cos(v[3])
    return x + 0.5 * y
