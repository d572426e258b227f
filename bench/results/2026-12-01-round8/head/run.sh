#!/bin/bash
# usage: run.sh JAR OUTDIR OLDJAR
# Round 8, the session's head after review 8b (b2c7d8c: one pool call per allocation on threads
# that may wait; not the default configuration's path) against c4262ba; then the 1 KiB write.
J=$1; OUT=$2; OLD=$3; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $jar | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
F2="-f 2 -wi 3 -w 1s -i 3 -r 1s"
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
NA='NettyAllocatorBench\.allocateRelease$'
run $OLD netty-t2-old "$NA" -p size=64,4096 -p allocator=slab4j,nettyAdaptive $F2 -t 2
run $J   netty-t2-new "$NA" -p size=64,4096 -p allocator=slab4j,nettyAdaptive $F2 -t 2
run $J   netty-t1-new "$NA" $C3 -t 1
run $J   write-t1 'NettyAllocatorBench\.write1KiBRelease$' $C3 -t 1 -prof gc
echo ALLDONE >> $OUT/commands.txt
