# CloudWatch alarms on the metrics `parity canary --cloudwatch Parity/Sessions` puts (Terraform,
# hashicorp/aws provider). The same alarms as cloudwatch-alarms.cfn.yaml.
variable "environment" {
  type        = string
  description = "The profile name the canary runs with (its Environment dimension)"
}

variable "namespace" {
  type    = string
  default = "Parity/Sessions"
}

variable "alarm_topic_arn" {
  type = string
}

locals {
  # name => [metric, statistic, comparison, threshold, periods, datapoints, missing data]
  parity_alarms = {
    "session-persistence" = ["SessionPersistence", "Minimum", "LessThanThreshold", 1, 3, 3, "breaching"]
    "canary"              = ["ProbeSuccess", "Minimum", "LessThanThreshold", 1, 5, 5, "breaching"]
    "sticky-violations"   = ["StickyViolations", "Maximum", "GreaterThanThreshold", 0, 10, 5, "notBreaching"]
    "session-losses"      = ["SessionLosses", "Maximum", "GreaterThanThreshold", 0, 3, 3, "notBreaching"]
    "build-skew"          = ["BuildSkew", "Maximum", "GreaterThanThreshold", 0, 6, 6, "notBreaching"]
  }
}

resource "aws_cloudwatch_metric_alarm" "parity" {
  for_each            = local.parity_alarms
  alarm_name          = "parity-${var.environment}-${each.key}"
  namespace           = var.namespace
  metric_name         = each.value[0]
  dimensions          = { Environment = var.environment }
  statistic           = each.value[1]
  comparison_operator = each.value[2]
  threshold           = each.value[3]
  period              = each.key == "build-skew" ? 300 : 60
  evaluation_periods  = each.value[4]
  datapoints_to_alarm = each.value[5]
  treat_missing_data  = each.value[6]
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
}
