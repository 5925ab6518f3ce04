"""What the machine offers: screens, displays, devices, audio, camera, permissions, doctor checks."""
