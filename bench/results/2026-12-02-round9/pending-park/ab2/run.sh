#!/bin/bash
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
F="-f 3 -wi 3 -w 1s -i 3 -r 1s"
$XA /tmp/ci40/bench/target/benchmarks.jar 'BufferPoolBench\.(slab4j|floorHandle)$' -p size=64,4096 $F -t 1 -rf json -rff old-1.json > old-1.txt 2>&1
$XA /tmp/new41.jar 'BufferPoolBench\.(slab4j|floorPark)$' -p size=64,4096 $F -t 1 -rf json -rff new-1.json > new-1.txt 2>&1
echo ALLDONE > done
