# terraform init && terraform test   (in infra/terraform)
#
# The values mirror cluster-mode-enabled.tfvars, plus HTTPS and an admin.

mock_provider "aws" {
  # Mocked IDs and ARNs shaped like real ones, so the modules' input
  # validations and the provider's ARN checks accept them after a mocked apply.
  mock_resource "aws_vpc" {
    defaults = { id = "vpc-0mock0000000000000" }
  }
  mock_resource "aws_subnet" {
    defaults = { id = "subnet-0mock00000000000" }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0mock000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mock-AbCdEf" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/shop"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop"
    }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/0123456789abcdef"
      arn_suffix = "app/shop/0123456789abcdef"
      dns_name   = "shop-123456789.eu-west-1.elb.amazonaws.com"
    }
  }
  mock_resource "aws_vpc_endpoint" {
    defaults = { prefix_list_id = "pl-6da54004" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:shop-alarms" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-app/0123456789abcdef" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = {
      id  = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
      arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
    }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:1" }
  }
}

variables {
  account_id              = "123456789012"
  alarm_emails            = ["ops@example.com", "oncall@example.com"]
  region                  = "eu-west-1"
  availability_zones      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  name                    = "shop"
  cluster_mode_enabled    = true
  num_node_groups         = 2
  replicas_per_node_group = 1
  certificate_arn         = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  admin_email             = "admin@example.com"
}

run "plan_cluster_mode" {
  command = plan

  assert {
    condition     = output.redis_mode == "cluster"
    error_message = "Cluster mode enabled runs the shop with SHOP_REDIS_MODE=cluster."
  }
  assert {
    condition     = module.elasticache.cluster_mode_enabled == true
    error_message = "The cache runs with cluster mode enabled."
  }
  assert {
    condition     = length(module.network[0].private_subnet_ids) == 3
    error_message = "Three availability zones, three private subnets."
  }
  assert {
    condition     = toset([for s in aws_sns_topic_subscription.email : s.endpoint]) == toset(["ops@example.com", "oncall@example.com"])
    error_message = "Every alarm_emails address is subscribed."
  }
}

run "apply_mocked" {
  command = apply

  assert {
    condition     = startswith(output.shop_url, "https://")
    error_message = "With a certificate the shop is served over HTTPS."
  }
  assert {
    condition     = output.admin_password_secret_arn != null
    error_message = "admin_email creates an admin password secret."
  }
}
