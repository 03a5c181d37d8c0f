"""Shared by the whole suite: tests marked ``slow`` (the bigger fuzz corpus, the full 22-layer LUT table,
the 50-architecture validation, the long under-load build) run only when asked for with ``-m slow``;
the default run keeps their small real versions."""


def pytest_collection_modifyitems(config, items):
    if config.option.markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
