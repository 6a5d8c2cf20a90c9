// A time-series chart (uPlot), loaded as its own chunk by the dashboard.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  title: string;
  x: number[];
  step: number;
  unit?: string;
  series: { label: string; values: number[] }[];
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];

export function Chart({ title, x, step, unit, series }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#cbd5e1' : '#334155', grid: { stroke: dark ? '#334155' : '#e2e8f0' } };
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 200,
        series: [
          {},
          ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: false } })),
        ],
        axes: [
          { ...axis, values: step >= 86400 ? '{M}/{D}' : '{HH}:{mm}' },
          { ...axis, label: unit, size: 60 },
        ],
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        legend: { live: false },
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 200 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [x, step, unit, series.map((s) => s.label + s.values.join()).join()]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}
