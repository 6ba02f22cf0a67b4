import { Group, Stack, Text } from '@mantine/core';

const PALETTE = ['#4c6ef5', '#12b886', '#fab005', '#fa5252', '#7950f2', '#15aabf', '#fd7e14', '#82c91e'];
export const colorOf = (i: number) => PALETTE[i % PALETTE.length];

/** Stacked daily bars (one series per key), drawn as SVG: no chart library in the bundle. */
export function StackedBars(props: {
  days: string[];
  series: { key: string; label: string; values: Map<string, number> }[];
  height?: number;
  label: string;
}) {
  const height = props.height ?? 160;
  const totals = props.days.map((d) => props.series.reduce((a, s) => a + (s.values.get(d) ?? 0), 0));
  const max = Math.max(1, ...totals);
  const w = 100 / Math.max(1, props.days.length);
  return (
    <Stack gap="xs">
      <svg
        viewBox={`0 0 100 ${height}`}
        preserveAspectRatio="none"
        width="100%"
        height={height}
        role="img"
        aria-label={props.label}
      >
        {props.days.map((d, i) => {
          let y = height;
          return props.series.map((s, j) => {
            const v = s.values.get(d) ?? 0;
            const h = (v / max) * (height - 4);
            y -= h;
            return v > 0 ? (
              <rect key={`${d}-${s.key}`} x={i * w + w * 0.1} y={y} width={w * 0.8} height={h} fill={colorOf(j)}>
                <title>{`${d} · ${s.label}: ${v}`}</title>
              </rect>
            ) : null;
          });
        })}
      </svg>
      <Group gap="md">
        {props.series.map((s, j) => (
          <Group key={s.key} gap={4}>
            <svg width="10" height="10" aria-hidden="true">
              <rect width="10" height="10" fill={colorOf(j)} />
            </svg>
            <Text size="xs">{s.label}</Text>
          </Group>
        ))}
      </Group>
    </Stack>
  );
}

/** Horizontal bars with their value, for a top-N list. */
export function HorizontalBars(props: {
  rows: { label: string; value: number; color?: string }[];
  format: (n: number) => string;
}) {
  const max = Math.max(1, ...props.rows.map((r) => r.value));
  return (
    <Stack gap={6}>
      {props.rows.map((r) => (
        <div key={r.label}>
          <Group justify="space-between" gap="xs">
            <Text size="sm" truncate>
              {r.label}
            </Text>
            <Text size="sm" fw={600}>
              {props.format(r.value)}
            </Text>
          </Group>
          <div style={{ background: '#edf2ff', height: 6, borderRadius: 3 }}>
            <div
              style={{
                width: `${(r.value / max) * 100}%`,
                background: r.color ?? '#4c6ef5',
                height: 6,
                borderRadius: 3,
              }}
            />
          </div>
        </div>
      ))}
    </Stack>
  );
}
