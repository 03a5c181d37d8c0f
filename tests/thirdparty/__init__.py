"""Third-party attention implementations, rewritten faithfully from their public repositories, and the
battery (test_battery.py) that traces each one and checks params, MACs and unknown ops against
independent counts."""
