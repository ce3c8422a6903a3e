#!/bin/sh
# Starts (or stops) two ClickHouse servers on free loopback ports for the tests, each from its own config in a
# temp dir, and a 2-shard cluster `journey_2shards` over both. Writes the ports and pids to $DIR/env.
#   servers.sh start DIR    — prints "JOURNEY_CLICKHOUSE_URL=… JOURNEY_CLICKHOUSE_URL2=…" lines into DIR/env
#   servers.sh stop DIR [keep] — stops both servers by their pids (and removes DIR unless "keep")
set -e
cmd=$1; dir=$2
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
if [ "$cmd" = stop ]; then
  for p in "$dir"/server*/pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  for p in "$dir"/server*/pid; do
    [ -f "$p" ] || continue
    i=0; while kill -0 "$(cat "$p")" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    kill -9 "$(cat "$p")" 2>/dev/null || true
  done
  [ "$3" = keep ] || rm -rf "$dir"
  exit 0
fi
command -v clickhouse-server >/dev/null || { echo "clickhouse-server is not installed" >&2; exit 1; }
mkdir -p "$dir"
h1=$(free_port); t1=$(free_port); i1=$(free_port); h2=$(free_port); t2=$(free_port); i2=$(free_port)
for n in 1 2; do
  if [ $n = 1 ]; then h=$h1; t=$t1; i=$i1; else h=$h2; t=$t2; i=$i2; fi
  d="$dir/server$n"; mkdir -p "$d/data" "$d/scratch" "$d/log"
  cat > "$d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/log/server.log</log><errorlog>$d/log/error.log</errorlog><console>0</console></logger>
  <http_port>$h</http_port>
  <tcp_port>$t</tcp_port>
  <interserver_http_port>$i</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$d/data/</path>
  <tmp_path>$d/scratch/</tmp_path>
  <user_files_path>$d/scratch/</user_files_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>
  <max_concurrent_queries>50</max_concurrent_queries>
  <remote_servers>
    <journey_2shards>
      <shard><replica><host>127.0.0.1</host><port>$t1</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$t2</port></replica></shard>
    </journey_2shards>
  </remote_servers>
</yandex>
XML
  cat > "$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><log_queries>1</log_queries></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <analyst><password>s3cret</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></analyst>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  clickhouse-server --config-file="$d/config.xml" >"$d/log/stdout.log" 2>&1 &
  echo $! > "$d/pid"
done
# Ready when both answer over HTTP.
for h in $h1 $h2; do
  i=0
  until curl -s "http://127.0.0.1:$h/" -d "SELECT 1" 2>/dev/null | grep -q 1; do
    i=$((i+1)); [ $i -gt 300 ] && { echo "clickhouse-server on port $h did not start; see $dir/server*/log" >&2; exit 1; }
    sleep 0.1
  done
done
{ echo "JOURNEY_CLICKHOUSE_URL=http://127.0.0.1:$h1/"; echo "JOURNEY_CLICKHOUSE_URL2=http://127.0.0.1:$h2/"; } > "$dir/env"
cat "$dir/env"
