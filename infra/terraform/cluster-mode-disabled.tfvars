# Cluster mode disabled: one shard, a primary and a replica in another AZ.
# The shop runs with SHOP_REDIS_MODE=standalone and uses the primary endpoint
# for writes and the reader endpoint for reads.
#
#   terraform apply -var-file=cluster-mode-disabled.tfvars

# Replace the three placeholders below with your own before terraform apply
# (a plan works with them; an apply fails on the made-up certificate).
account_id      = "123456789012"                                                                        # aws sts get-caller-identity --query Account
certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000" # ACM, in region: HTTPS, HSTS, Secure cookies
alarm_emails    = ["ops@example.com"]                                                                   # every alarm mails these

region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]
name               = "shop"

cluster_mode_enabled = false
num_cache_clusters   = 2 # 1 primary + 1 replica; at least 2 for failover
cache_node_type      = "cache.t4g.small"

db_instance_class = "db.t4g.micro"
db_multi_az       = false # a demo; true for anything that matters

desired_count = 2
image_tag     = "latest"

# admin_email     = "you@example.com"
# allow_plain_http = true   # instead of certificate_arn: a throwaway demo over plain HTTP
