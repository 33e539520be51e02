"""Foundation types every layer may use: validated names and time windows.

Standard library only; nothing here imports another runwatch package
(tests/test_foundation_layering.py checks it).
"""
