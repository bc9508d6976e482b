"""The seed improver: the program the self-improver starts from, kept as source text.

Like STOP's seed, it proposes candidates from the input, scores each with the utility and
returns the best, never exceeding the budget of utility calls. Where STOP asked a language model
for each candidate, this seed calls ``mutate`` (a task's move for a downstream answer, or a
random program transformation when the input is an improver's own source).

Its text is run only inside ``rsilab.box``: it is data here, never imported or executed by
the host. Imports nothing.
"""

SEED_SOURCE = '''\
def improve(solution, utility, mutate, budget, rng):
    best = solution
    best_score = utility(solution)
    calls = 1
    while calls < budget:
        candidate = mutate(solution, rng)
        score = utility(candidate)
        calls = calls + 1
        if score > best_score:
            best = candidate
            best_score = score
    return best
'''
