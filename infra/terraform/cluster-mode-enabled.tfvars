# Cluster mode enabled: 2 shards × (1 primary + 1 replica) = 4 nodes, keys
# spread over the shards by hash slot. The shop runs with
# SHOP_REDIS_MODE=cluster against the configuration endpoint.
#
#   terraform apply -var-file=cluster-mode-enabled.tfvars

# Replace the three placeholders below with your own before terraform apply
# (a plan works with them; an apply fails on the made-up certificate).
account_id      = "123456789012"                                                                        # aws sts get-caller-identity --query Account
certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000" # ACM, in region: HTTPS, HSTS, Secure cookies
alarm_emails    = ["ops@example.com"]                                                                   # every alarm mails these

region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
name               = "shop"

cluster_mode_enabled    = true
num_node_groups         = 2
replicas_per_node_group = 1
cache_node_type         = "cache.t4g.small"

db_instance_class = "db.t4g.micro"
db_multi_az       = true

desired_count = 2
image_tag     = "latest"

# admin_email     = "you@example.com"
# allow_plain_http = true   # instead of certificate_arn: a throwaway demo over plain HTTP
