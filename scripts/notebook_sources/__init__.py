"""The notebooks' sources, one module per notebook; `scripts/make_notebooks.py` writes them.

Each module holds `FILE` (the notebook's name under `notebooks/`) and `NOTEBOOK`.
"""

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}

# The four threads the questions come from: (title, where, address). Threads 0 and 3
# reached the project as translated copies; the address is the original thread's. The
# page of thread 1 gathers answers from several threads and gives no address of its own.
THREADS = {
    0: ("Why is ReLU used as an activation function?", "Data Science Stack Exchange",
        "https://datascience.stackexchange.com/questions/26475/why-is-relu-used-as-an-activation-function"),
    1: ("why is leaky relu better than relu", "a page of answers gathered from Stack Exchange "
        "and Quora; it gives no address of its own", None),
    2: ("What are the advantages of ReLU over sigmoid function in deep neural networks?",
        "Cross Validated",
        "https://stats.stackexchange.com/questions/126238/what-are-the-advantages-of-relu-over-sigmoid-function-in-deep-neural-networks"),
    3: ("Relu vs Sigmoid vs Softmax as hidden layer neurons", "Cross Validated",
        "https://stats.stackexchange.com/questions/218752/relu-vs-sigmoid-vs-softmax-as-hidden-layer-neurons"),
}


def cite(thread):
    """A thread as markdown: its title (linked where it has an address) and where it is."""
    title, where, address = THREADS[thread]
    return f"[*{title}*]({address}) ({where})" if address else f"*{title}* ({where})"


QUICK_NOTE = """Set `ACTKERAS_DATA_DIR` to the folder holding the real data sets to run this notebook at
full size. The test suite runs it with `ACTKERAS_NOTEBOOK_QUICK=1`: the small samples shipped
inside the package and shorter training, sized so that the effect it teaches still shows."""
