"""`actkeras activations`: the registry and the presets, as a table."""


def add_arguments(parser):
    pass


def run(args):
    from actkeras.models import PRESETS
    from actkeras.registry import ACTIVATIONS

    print(f"{'name':<16}{'family':<13}{'arguments':<28}summary")
    for entry in ACTIVATIONS.values():
        params = ", ".join(f"{k}={v!r}" for k, v in entry.parameters.items()) or "-"
        print(f"{entry.name:<16}{entry.family:<13}{params:<28}{entry.summary}")
    print("\npresets: " + ", ".join(PRESETS))
    return 0
