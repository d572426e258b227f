#!/bin/bash
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
F="-f 3 -wi 3 -w 1s -i 3 -r 1s"
for k in 1 2; do
$XA /tmp/ci40/bench/target/benchmarks.jar 'BufferPoolBench\.slab4j$' -p size=64,4096 $F -t 1 -rf json -rff old-$k.json > old-$k.txt 2>&1
$XA /tmp/cd42.jar 'BufferPoolBench\.slab4j$' -p size=64,4096 $F -t 1 -rf json -rff new-$k.json > new-$k.txt 2>&1
done
echo ALLDONE > done
