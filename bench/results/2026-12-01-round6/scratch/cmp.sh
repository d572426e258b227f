#!/bin/bash
# usage: cmp.sh LABEL JAR_A JAR_B [size] [threads]  -- interleaved A,B,A,B runs of slab4j+nettyAdaptive; prints ratios
S=${4:-64}; T=${5:-1}
for round in 1 2; do
for J in "$2" "$3"; do
java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar $J 'BufferPoolBench\.(slab4j|nettyAdaptive)$' -p size=$S -f 2 -wi 3 -w 1s -i 3 -r 1s -t $T -rf json -rff /tmp/cmp.json >/tmp/cmp-run.log 2>&1
python3 - "$1" "$J" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json,sys,statistics as st
d={r['benchmark'].split('.')[-1]: r for r in json.load(open('/tmp/cmp.json'))}
def m(k): return st.median([x for f in d[k]['primaryMetric']['rawData'] for x in f])
s,a=m('slab4j'),m('nettyAdaptive')
print(f"{sys.argv[1]:10s} {sys.argv[2]:28s} load={sys.argv[3]} slab4j={s:6.2f} adaptive={a:6.2f} ratio={a/s:5.2f}")
PY
done; done
