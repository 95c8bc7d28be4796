#!/usr/bin/env sh
# Installs the Apache Kafka broker the Kafka queue tests start (test/helpers/kafka.ts): the jars of
# org.apache.kafka:kafka_2.13 and its runtime dependencies, resolved by Maven from scripts/kafka/pom.xml
# into ~/.cache/switchyard/kafka-<version>/libs. The tests run it in KRaft mode with `java -cp 'libs/*'`.
#
# Idempotent: a complete cache folder is kept, and Maven's own cache (~/.m2) makes a rebuilt folder
# cheap, so a reused machine skips the download. Quiet on success; on failure Maven's output is shown
# and it exits non-zero. Needs java (17 or later) and mvn on PATH.
set -eu

die() {
  printf 'install-kafka: %s\n' "$*" >&2
  exit 1
}

here="$(cd "$(dirname "$0")" && pwd)"
pom="$here/kafka/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
[ -n "$version" ] || die "no <kafka.version> in $pom"
dest="$HOME/.cache/switchyard/kafka-$version"
[ -f "$dest/libs/.complete" ] && exit 0

command -v java >/dev/null 2>&1 || die "java is not on PATH (the Kafka broker needs Java 17 or later)"
command -v mvn >/dev/null 2>&1 || die "mvn is not on PATH (it resolves the Kafka jars)"

mkdir -p "$(dirname "$dest")"
work="$(mktemp -d "$dest.tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$work/libs" >"$work/log" 2>&1; then
  cat "$work/log" >&2
  die "resolving org.apache.kafka:kafka_2.13:$version failed"
fi
ls "$work/libs"/kafka_2.13-"$version".jar >/dev/null 2>&1 || die "kafka_2.13-$version.jar missing after the download"
touch "$work/libs/.complete"
rm -rf "$dest"
mv "$work" "$dest"
