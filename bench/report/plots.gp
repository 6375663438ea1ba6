# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The report's plots, from the .dat files make_report.py writes (run in their
# directory by scripts/bench.sh, once per plot: gnuplot -e "which='perop'" plots.gp).
# Error bars: min and max over the runs.
set terminal pngcairo size 900,560 font "DejaVu Sans,10"
set grid ytics
set key inside left top

# Cost against store size (section 1).
if (which eq "perop") {
  set output "perop.png"
  set title "Cost per operation against store size (ns over the empty program, median, min-max)"
  set xlabel "keys in the store"
  set ylabel "ns per operation"
  set logscale x 2
  set xtics (1, 2, 8, 32, 60)
  set xrange [0.8:75]
  set yrange [0:*]
  plot "perop.dat" u 1:2:3:4 w yerrorlines lw 2 t "get", \
       "" u 1:5:6:7 w yerrorlines lw 2 t "get, fast layout", \
       "" u 1:8:9:10 w yerrorlines lw 2 t "has", \
       "" u 1:11:12:13 w yerrorlines lw 2 t "has, fast layout", \
       "" u 1:14:15:16 w yerrorlines lw 2 t "set overwrite", \
       "" u 1:17:18:19 w yerrorlines lw 2 t "set overwrite, fast", \
       "" u 1:20:21:22 w yerrorlines lw 2 dt 2 t "TLV walk (baseline)", \
       "" u 1:23:24:25 w yerrorlines lw 2 dt 3 t "insert or delete ((pair)/2)"
  unset logscale x
  unset xrange
  unset yrange
  set xtics autofreq
}

set style fill solid 0.6 border -1
set boxwidth 0.6

# End to end: ratio to the baseline (section 2).
if (which eq "e2e") {
  set output "e2e.png"
  set title "End to end: redirect rate as a ratio to the baseline of the same run (median, min-max)"
  set xlabel ""
  set ylabel "ratio"
  set yrange [0:1.3]
  set xtics rotate by -25 noenhanced
  set bmargin 9
  set key off
  plot "e2e.dat" u 1:2:xtic(5) w boxes lc rgb "#4477aa", \
       "" u 1:2:3:4 w yerrorbars lc rgb "black" pt 0, \
       0.95 w l dt 2 lc rgb "red"
  set xtics norotate
  set bmargin
  unset yrange
  set key outside right top
}

# GRO (section 3): throughput and segments per skb.
if (which eq "gro") {
  set output "gro.png"
  set title "GRO: TCP throughput into a veth with XDP (median, min-max) and segments per skb"
  set ylabel "Gbit/s"
  set y2label "segments per skb"
  set ytics nomirror
  set y2tics
  set yrange [0:*]
  set y2range [0:*]
  set xtics noenhanced
  set key outside right top
  plot "gro.dat" u 1:2:xtic(6) w boxes lc rgb "#4477aa" t "Gbit/s", \
       "" u 1:2:3:4 w yerrorbars lc rgb "black" pt 0 notitle, \
       "" u 1:5 axes x1y2 w linespoints pt 7 ps 1.5 lc rgb "#cc6677" t "segments per skb"
  unset y2tics
  unset y2label
  set ytics mirror
  unset yrange
}

# The tracer's cost per event against the event rate.
if (which eq "tracer") {
  set output "tracer.png"
  set title "Tracer (xdpkv trace): polling CPU per event against the event rate (median, min-max)"
  set xlabel "events per second"
  set ylabel "ns of CPU per event"
  set logscale x
  set yrange [0:*]
  set key off
  plot "tracer.dat" u 1:2:3:4 w yerrorlines lw 2 pt 7
  unset logscale x
  unset yrange
}

# Registry operations per second against concurrent registrants.
if (which eq "registry") {
  set output "registry.png"
  set title "Registry: operations per second (all threads) against concurrent registrants"
  set xlabel "registrants (threads)"
  set ylabel "operations per second"
  set logscale x 2
  set xtics (1, 2, 4, 8)
  set xrange [0.8:10]
  set yrange [0:*]
  set key outside right top
  plot "registry.dat" u 1:2:3:4 w yerrorlines lw 2 pt 7 t "register + unregister", \
       "" u 1:5:6:7 w yerrorlines lw 2 pt 7 t "lookup by name"
}
