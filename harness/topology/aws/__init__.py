"""The aws provider: an Application Load Balancer and its targets, resolved through boto3."""
