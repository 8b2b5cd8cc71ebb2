#!/usr/bin/env bash
# First-boot provisioning of the ZenOps database (run by the postgres image from
# /docker-entrypoint-initdb.d as the superuser, against $POSTGRES_DB).
#
# Mirrors devstack.postgres.provision (the launcher's provisioning), per service <svc>:
#   schema <svc> owned by <svc>_owner (migrations only);
#   LOGIN roles <svc>_owner, <svc>_app (tenant requests, bound by RLS), <svc>_system (consumers, relay);
#   none superuser/createdb/createrole/replication/bypassrls; search_path = <svc>;
#   app/system get USAGE on the schema and default DML/sequence privileges on what the owner creates;
#   PUBLIC loses CONNECT on the database and every right on schema public.
# Passwords come from ZENOPS_PG_<SVC>_<KIND>_PASSWORD (set in compose from the deployer's env).
# tests/deploy/test_compose_in_step.py keeps ZENOPS_DB_SERVICES equal to catalog.db_services().
set -euo pipefail

ZENOPS_DB_SERVICES="workorders evidence factory billing"
ROLE_ATTRS="LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
DB="${POSTGRES_DB:?POSTGRES_DB must be set}"

psql_admin() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "$DB" "$@"
}

psql_admin --set db="$DB" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL

for svc in $ZENOPS_DB_SERVICES; do
    upper="${svc^^}"
    owner_pw_var="ZENOPS_PG_${upper}_OWNER_PASSWORD"
    app_pw_var="ZENOPS_PG_${upper}_APP_PASSWORD"
    system_pw_var="ZENOPS_PG_${upper}_SYSTEM_PASSWORD"
    # Passwords travel as psql variables (:'var' quotes them as literals), never spliced into SQL text.
    psql_admin \
        --set db="$DB" \
        --set svc="$svc" \
        --set owner="${svc}_owner" \
        --set app="${svc}_app" \
        --set system="${svc}_system" \
        --set owner_pw="${!owner_pw_var:?$owner_pw_var must be set}" \
        --set app_pw="${!app_pw_var:?$app_pw_var must be set}" \
        --set system_pw="${!system_pw_var:?$system_pw_var must be set}" \
        --set role_attrs="$ROLE_ATTRS" <<'SQL'
CREATE ROLE :"owner" :role_attrs PASSWORD :'owner_pw';
CREATE ROLE :"app" :role_attrs PASSWORD :'app_pw';
CREATE ROLE :"system" :role_attrs PASSWORD :'system_pw';
GRANT CONNECT ON DATABASE :"db" TO :"owner", :"app", :"system";
ALTER ROLE :"owner" SET search_path = :"svc";
ALTER ROLE :"app" SET search_path = :"svc";
ALTER ROLE :"system" SET search_path = :"svc";
CREATE SCHEMA :"svc" AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA :"svc" TO :"app", :"system";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"svc"
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app", :"system";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"svc"
    GRANT USAGE, SELECT ON SEQUENCES TO :"app", :"system";
SQL
done
