-- trimmed from upstream: database webhooks (supabase_functions schema)
BEGIN;
  CREATE SCHEMA IF NOT EXISTS supabase_functions AUTHORIZATION supabase_admin;
COMMIT;
