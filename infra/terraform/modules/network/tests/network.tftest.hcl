# terraform init && terraform test   (in modules/network; check.sh runs it in CI)

mock_provider "aws" {
  mock_resource "aws_vpc" {
    defaults = { id = "vpc-0mock0000000000000" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/shop/flow-logs" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/shop-flow" }
  }
}

variables {
  name               = "shop"
  region             = "eu-west-1"
  account_id         = "123456789012"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
}

run "subnets_and_endpoints" {
  command = plan

  assert {
    condition     = [for s in aws_subnet.public : s.cidr_block] == ["10.40.0.0/20", "10.40.16.0/20"] && [for s in aws_subnet.private : s.cidr_block] == ["10.40.128.0/20", "10.40.144.0/20"]
    error_message = "One public and one private /20 per zone, never overlapping."
  }
  assert {
    condition     = alltrue([for s in aws_subnet.public : s.map_public_ip_on_launch == false])
    error_message = "Nothing gets a public IP by being launched in a public subnet."
  }
  assert {
    condition     = toset([for e in aws_vpc_endpoint.interface : e.service_name]) == toset(["com.amazonaws.eu-west-1.ecr.api", "com.amazonaws.eu-west-1.ecr.dkr", "com.amazonaws.eu-west-1.secretsmanager", "com.amazonaws.eu-west-1.logs"]) && alltrue([for e in aws_vpc_endpoint.interface : e.private_dns_enabled && e.vpc_endpoint_type == "Interface"])
    error_message = "Interface endpoints with private DNS for ECR (api, dkr), Secrets Manager and CloudWatch Logs."
  }
  assert {
    condition     = aws_vpc_endpoint.s3.service_name == "com.amazonaws.eu-west-1.s3" && aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway"
    error_message = "A gateway endpoint for S3 (ECR image layers)."
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.endpoints_https.cidr_ipv4 == "10.40.0.0/16" && aws_vpc_security_group_ingress_rule.endpoints_https.from_port == 443 && aws_vpc_security_group_ingress_rule.endpoints_https.to_port == 443
    error_message = "The endpoints accept HTTPS from inside the VPC only."
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 1
    error_message = "One shared NAT gateway by default."
  }
}

run "flow_logs_and_default_deny" {
  command = apply

  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL" && aws_flow_log.this.log_destination_type == "cloud-watch-logs" && aws_flow_log.this.log_destination == "arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/shop/flow-logs"
    error_message = "All VPC traffic is logged to the flow log group."
  }
  assert {
    condition     = jsondecode(aws_iam_role.flow.assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012" && jsondecode(aws_iam_role.flow.assume_role_policy).Statement[0].Principal.Service == "vpc-flow-logs.amazonaws.com"
    error_message = "Only VPC Flow Logs of this account may assume the flow-log role."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.flow.policy).Statement[0].Resource == "arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/shop/flow-logs:*"
    error_message = "The flow-log role writes to its log group only."
  }
  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The VPC's default security group is emptied."
  }
}

run "one_nat_gateway_per_zone" {
  command = plan

  variables {
    single_nat_gateway = false
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 2
    error_message = "single_nat_gateway = false: one NAT gateway per zone."
  }
}

run "bad_inputs_are_refused" {
  command = plan

  variables {
    name                    = "Shop!"
    cidr_block              = "10.40.0.0/24"
    availability_zones      = ["eu-west-1a"]
    region                  = "Ireland"
    account_id              = "12345"
    flow_log_retention_days = 2
  }

  expect_failures = [var.name, var.cidr_block, var.availability_zones, var.region, var.account_id, var.flow_log_retention_days]
}
