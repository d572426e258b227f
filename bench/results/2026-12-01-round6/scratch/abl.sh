#!/bin/bash
# usage: abl.sh LABEL [pattern] [threads] [size]
cd /work/wt/abl && mvn -B -q -o -pl bench -am package -DskipTests >/tmp/abl-build.log 2>&1 || { tail -20 /tmp/abl-build.log; exit 1; }
P=${2:-'BufferPoolBench\.slab4j$'}
T=${3:-1}
S=${4:-64}
L=$(cut -d' ' -f1 /proc/loadavg)
java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar bench/target/benchmarks.jar "$P" -p size=$S -f 3 -wi 3 -w 1s -i 4 -r 1s -t $T -rf json -rff /tmp/abl.json >/tmp/abl-run.log 2>&1
python3 - "$1" "$L" <<'PY'
import json,sys,statistics as st
for r in json.load(open('/tmp/abl.json')):
    raw=r['primaryMetric']['rawData']
    forks=[st.mean(f) for f in raw]
    print(f"{sys.argv[1]:14s} {r['benchmark'].split('.')[-1]:14s} t={r['threads']} load={sys.argv[2]} median={st.median([x for f in raw for x in f]):6.2f} forks=" + " ".join(f"{x:.1f}" for x in forks))
PY
