#!/bin/bash
# usage: run.sh JAR OUTDIR OLDJAR
# Round 7: the rows of bench/RESULTS.md "Round 7" come from one run of this script on a quiet
# machine. OLDJAR is the clean-clone jar of the previous head (5705c86), for the
# before/after pair of the large spans' hot slot and the zeroing guard.
J=$1; OUT=$2; OLD=$3; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $(basename $(dirname $(dirname $(dirname $jar)))) | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
F3="-f 3 -wi 3 -w 1s -i 3 -r 1s"
BP='BufferPoolBench\.(slab4j|nettyAdaptive)$'
run $OLD pair-old-1 "$BP" $C3 -t 1
run $J   pair-new-1 "$BP" $C3 -t 1
run $J buffer-t1 'BufferPoolBench\.(slab4j|floorHandle|nettyAdaptive|nettyPooled)$' $C3 -t 1 -prof gc
run $J buffer-t2 "$BP" $F3 -t 2
run $J netty-t1 'NettyAllocatorBench\.allocateRelease$' $C3 -t 1 -prof gc
run $J netty-t2 'NettyAllocatorBench\.allocateRelease$' -p allocator=slab4j,nettyAdaptive $F3 -t 2
run $J buffer-sample "$BP" -p size=4096,65536 -bm sample -tu ns -f 3 -wi 3 -w 1s -i 5 -r 1s -t 1
echo ALLDONE >> $OUT/commands.txt
