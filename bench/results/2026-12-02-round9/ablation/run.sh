#!/bin/bash
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
F="-f 3 -wi 3 -w 1s -i 3 -r 1s"
for j in base C S V CSV; do
  jar=/tmp/abl-$j.jar; [ $j = base ] && jar=/tmp/ci40/bench/target/benchmarks.jar
  $XA $jar 'BufferPoolBench\.slab4j$' -p size=64 $F -t 1 -rf json -rff $j.json > $j.txt 2>&1
done
$XA /tmp/ci40/bench/target/benchmarks.jar 'BufferPoolBench\.slab4j$' -p size=64 $F -t 1 -rf json -rff base2.json > base2.txt 2>&1
echo ALLDONE > done
