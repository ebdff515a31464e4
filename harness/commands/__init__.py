"""What the commands do (check, diff, behaviour), without argparse."""
