set terminal pngcairo size 1200,480 font ",10"
set output "scale.png"
set multiplot layout 1,2
set logscale x
set xlabel "services (x pods-per-service endpoints)"
set key below
set grid
set title "QPS on one core (median; dashed: raw, solid: per CPU-second of the server)"
set ylabel "queries/s"
set yrange [0:*]
plot "plot.dat" using 1:10 with linespoints linecolor 1 title "clusterdns", \
     "" using 1:11 with linespoints linecolor 2 title "kubernetes", \
     "" using 1:12 with linespoints linecolor 3 title "whoami", \
     "" using 1:2 with linespoints linecolor 1 dashtype 2 notitle, \
     "" using 1:3 with linespoints linecolor 2 dashtype 2 notitle, \
     "" using 1:4 with linespoints linecolor 3 dashtype 2 notitle
set title "memory after sync"
set ylabel "MiB"
plot "plot.dat" using 1:5 with linespoints linecolor 1 title "clusterdns RSS", \
     "" using 1:6 with linespoints linecolor 2 title "kubernetes RSS", \
     "" using 1:7 with linespoints linecolor 1 dashtype 2 title "clusterdns heap for data", \
     "" using 1:8 with linespoints linecolor 2 dashtype 2 title "kubernetes heap for data", \
     "" using 1:9 with lines linecolor rgb "black" dashtype 3 title "published sizing (MB)"
unset multiplot
