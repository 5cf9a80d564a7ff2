# Cluster mode disabled: one shard, a primary and a replica in another AZ.
# The shop runs with SHOP_REDIS_MODE=standalone and uses the primary endpoint
# for writes and the reader endpoint for reads.
#
#   terraform apply -var-file=cluster-mode-disabled.tfvars

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

# certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/…"  # HTTPS + secure cookies
# admin_email     = "you@example.com"
# alarm_actions   = ["arn:aws:sns:eu-west-1:123456789012:ops"]
