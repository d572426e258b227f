#!/bin/bash
# usage: run.sh JAR OUTDIR [OLDJAR]
# Round 5: every figure of bench/RESULTS.md "Round 5" comes from one run of this script on a
# quiet machine. OLDJAR (optional) is a jar of the round 4 code, for the before/after pairs.
J=$1; OUT=$2; OLD=$3; mkdir -p $OUT
XA="java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -jar"
run() { jar=$1; name=$2; shift 2; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name | $(basename $(dirname $(dirname $(dirname $jar)))) | X $*" >> $OUT/commands.txt; $XA $jar "$@" -rf json -rff $OUT/$name.json > $OUT/$name.txt 2>&1; echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) | $name done" >> $OUT/commands.txt; }
C="-f 1 -wi 3 -w 1s -i 5 -r 1s"
C3="-f 1 -wi 3 -w 1s -i 3 -r 1s"
BP='BufferPoolBench\.(slab4j|nettyAdaptive)$'
if [ -n "$OLD" ]; then
  run $OLD pair-old-1 "$BP" $C3 -t 1
  run $J   pair-new-1 "$BP" $C3 -t 1
  run $OLD pair-old-2 "$BP" $C3 -t 2
  run $J   pair-new-2 "$BP" $C3 -t 2
fi
run $J buffer-t1 'BufferPoolBench\.(slab4j|slab4jByteBuffer|floorHandle|nettyAdaptive|nettyPooled|byteBufferAllocateDirect|unsafeMalloc)$' $C3 -t 1 -prof gc
run $J buffer-t2 'BufferPoolBench\.(slab4j|floorHandle|nettyAdaptive|nettyPooled)$' $C -t 2
run $J netty-t1 'NettyAllocatorBench\.' $C3 -t 1 -prof gc
run $J netty-t2 'NettyAllocatorBench\.allocateRelease$' $C -t 2
run $J pool-t1 'bench\.PoolBench\.(pool|poolCache|poolCacheChecked|poolCacheLocal|floorLeased|nettyAdaptive)$' $C -t 1
run $J pool-t2 'bench\.PoolBench\.(pool|poolCache|poolCacheChecked|poolCacheLocal|floorLeased|nettyAdaptive)$' $C3 -t 2
run $J buffer-sample-1 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns -f 2 -wi 3 -w 1s -i 5 -r 1s -t 1
run $J buffer-sample-2 'BufferPoolBench\.(slab4j|nettyAdaptive|nettyPooled)$' -p size=4096,65536 -bm sample -tu ns -f 2 -wi 3 -w 1s -i 5 -r 1s -t 1
echo ALLDONE >> $OUT/commands.txt
