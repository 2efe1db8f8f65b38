"""Loops that carry state from step to step (preaccumulated backward steps)."""
import math


def euler_lv(alpha, beta, x0, y0, h, n):      # two carried states, parameters read every step
    x = x0
    y = y0
    for t in range(n):
        dx = alpha * x - beta * x * y
        dy = beta * x * y - 0.4 * y
        x = x + h * dx
        y = y + h * dy
    return x * x + y


def pendulum(theta0, omega0, g, h, n):         # sin in the step
    theta = theta0
    omega = omega0
    for t in range(n):
        omega = omega - h * g * math.sin(theta)
        theta = theta + h * omega
    return theta + 0.5 * omega * omega


def driven(a, u, n):                            # reads an array every step, sums on the side
    x = 0.5
    s = 0.0
    for t in range(n):
        x = math.tanh(a * x + u[t])
        s += x * u[t]
    return s + x


def halving(a):                                 # while loop with a carried state
    x = a
    k = 0
    while k < 6:
        x = x * x * 0.5 + a / (1.0 + x * x)
        k += 1
    return x
