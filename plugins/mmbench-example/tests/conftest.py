pytest_plugins = ["mmbench.testing.fixtures"]  # the mmbench_plugins fixture (docs/plugins.md, "Testing a plugin")
