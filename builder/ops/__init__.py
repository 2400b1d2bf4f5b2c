"""What the commands do, one module per action; each takes stacks (or a stack name and region) and a
reporter, and raises typed errors. Knows nothing of argparse."""
