"""The commands: each module exposes plain functions (and sub-apps); caprec.app registers them."""
