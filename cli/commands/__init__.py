"""The commands: each module exposes plain functions (and sub-apps); cli.app registers them."""
