#!/bin/bash
# A = f8b9f61 (main), B = cf7225b (exact class table), C = caae036 (B + hot-slot poll by exchange)
cd /tmp/ab2
for round in 1 2; do for t in 2 1; do for v in A B C; do
  echo "$(date -u +%T) $v t=$t r=$round load $(cut -d' ' -f1 /proc/loadavg)" >> times.txt
  java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar /tmp/j$v/bench/target/benchmarks.jar 'BufferPoolBench\.slab4j$' -p size=64,4096 -f 4 -wi 3 -w 1s -i 3 -r 1s -t $t -rf json -rff $v-t$t-r$round.json > $v-t$t-r$round.log 2>&1
done; done; done
echo done >> times.txt
