"""The built-in integrations, one module each, registered as ``claystack.integrations`` entry
points in ``pyproject.toml`` like any third-party plugin."""
