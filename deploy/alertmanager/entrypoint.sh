#!/bin/sh
# Renders alertmanager.yml.tmpl with ${VAR}s from the environment, then runs Alertmanager
# with any further arguments. Fails, naming the variable, when one is unset or empty.
set -eu
template=${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml.tmpl}
config=${ALERTMANAGER_CONFIG:-/alertmanager/alertmanager.yml}
awk '{
  line = $0; out = ""
  while (match(line, /[$][{][A-Za-z_][A-Za-z0-9_]*[}]/)) {
    name = substr(line, RSTART + 2, RLENGTH - 3)
    if (ENVIRON[name] == "") { print "alertmanager config: set " name > "/dev/stderr"; exit 1 }
    out = out substr(line, 1, RSTART - 1) ENVIRON[name]
    line = substr(line, RSTART + RLENGTH)
  }
  print out line
}' "$template" > "$config"
exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$config" "$@"
