output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, one per availability zone (load balancer, NAT gateways)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone (Fargate tasks, ElastiCache, RDS)."
  value       = aws_subnet.private[*].id
}

output "availability_zones" {
  description = "Availability zones the subnets are spread over, in subnet order."
  value       = var.availability_zones
}

output "vpc_endpoint_security_group_id" {
  description = "Security group of the interface endpoints (ECR api and dkr, Secrets Manager, CloudWatch Logs): the tasks' HTTPS egress goes there."
  value       = aws_security_group.endpoints.id
}

output "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint (ECR image layers): the tasks' other HTTPS egress."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs (all traffic)."
  value       = aws_cloudwatch_log_group.flow.name
}
