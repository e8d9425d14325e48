"""The addons path: every sub-package holding a ``__manifest__.py`` is one addon."""
