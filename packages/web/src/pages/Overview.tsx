import { Card, Grid, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { get, type Json } from '../api';
import { can, type Me } from '../auth';
import { HorizontalBars, StackedBars } from '../components/Charts';
import { ConsentTable } from '../components/ConsentTable';
import { useI18n } from '../i18n';

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="xl" fw={700} data-testid={testId}>
        {value}
      </Text>
    </Card>
  );
}

/** The RFM grid: recency (rows, 5 = most recent) by frequency (columns), shaded by profiles per cell. */
function RfmGrid({ grid, label }: { grid: Json[]; label: string }) {
  const max = Math.max(1, ...grid.map((c) => c.profiles));
  const cell = (r: number, f: number) => grid.find((c) => c.r === r && c.f === f);
  return (
    <table aria-label={label} style={{ borderCollapse: 'collapse' }}>
      <tbody>
        {[5, 4, 3, 2, 1].map((r) => (
          <tr key={r}>
            <th style={{ padding: '0 6px', fontWeight: 400, fontSize: 12 }}>R{r}</th>
            {[1, 2, 3, 4, 5].map((f) => {
              const c = cell(r, f);
              const alpha = c ? 0.1 + (0.9 * c.profiles) / max : 0;
              return (
                <td
                  key={f}
                  title={c ? `${c.segment}: ${c.profiles}` : ''}
                  style={{
                    width: 44,
                    height: 32,
                    textAlign: 'center',
                    fontSize: 12,
                    border: '1px solid #dee2e6',
                    background: `rgba(76, 110, 245, ${alpha})`,
                  }}
                >
                  {c?.profiles ?? ''}
                </td>
              );
            })}
          </tr>
        ))}
        <tr>
          <th />
          {[1, 2, 3, 4, 5].map((f) => (
            <th key={f} style={{ fontWeight: 400, fontSize: 12 }}>
              F{f}
            </th>
          ))}
        </tr>
      </tbody>
    </table>
  );
}

/** The overview (issue 8): traffic by source, profiles and identity, top events, audiences, RFM, consents, health. */
export function Overview({ me }: { me: Me }) {
  const { t, number } = useI18n();
  const stats = useQuery<Json>({
    queryKey: ['stats'],
    queryFn: () => get('/v1/stats/overview?days=30'),
    refetchInterval: 60_000,
  });
  const audiences = useQuery<Json>({
    queryKey: ['audiences'],
    queryFn: () => get('/v1/audiences'),
    enabled: can(me, 'audiences.read'),
  });
  const rfm = useQuery<Json>({ queryKey: ['rfm'], queryFn: () => get('/v1/rfm'), enabled: can(me, 'audiences.read') });
  const sources = useQuery<Json>({
    queryKey: ['sources'],
    queryFn: () => get('/v1/sources'),
    enabled: can(me, 'sources.read'),
  });
  const names = new Map<string, string>((sources.data?.items ?? []).map((s: Json) => [s.id, s.name]));
  const s = stats.data;
  const days: string[] = [];
  if (s) {
    const today = Date.now();
    for (let i = s.days - 1; i >= 0; i--) days.push(new Date(today - i * 86_400_000).toISOString().slice(0, 10));
  }
  const bySource = new Map<string, Map<string, number>>();
  for (const e of s?.eventsPerDay ?? []) {
    const m = bySource.get(e.sourceId) ?? new Map<string, number>();
    m.set(e.day, e.events);
    bySource.set(e.sourceId, m);
  }
  return (
    <Stack>
      <Title order={2}>{t('overview.title')}</Title>
      <Text c="dimmed">{t('overview.welcome', { name: me.user?.name ?? '—', roles: me.roles.join(', ') })}</Text>
      {s && (
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          <Stat label={t('overview.profiles')} value={number(s.profiles)} testId="stat-profiles" />
          <Stat
            label={t('overview.identified')}
            value={s.profiles ? `${Math.round((100 * s.identified) / s.profiles)} %` : '—'}
          />
          <Stat label={t('overview.merges')} value={number(s.merges)} />
          <Stat label={t('overview.backlog')} value={number(s.backlog)} />
        </SimpleGrid>
      )}
      <Grid>
        <Grid.Col span={{ base: 12, lg: 8 }}>
          <Card withBorder>
            <Title order={4} mb="sm">
              {t('overview.eventsPerDay')}
            </Title>
            <StackedBars
              label={t('overview.eventsPerDay')}
              days={days}
              series={[...bySource].map(([id, values]) => ({
                key: id,
                label: names.get(id) ?? `…${id.slice(-6)}`,
                values,
              }))}
            />
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 4 }}>
          <Card withBorder h="100%">
            <Title order={4} mb="sm">
              {t('overview.topEvents')}
            </Title>
            <HorizontalBars
              rows={(s?.topEvents ?? []).map((e: Json) => ({ label: e.name, value: e.events }))}
              format={number}
            />
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder h="100%">
            <Title order={4} mb="sm">
              {t('overview.audiences')}
            </Title>
            <HorizontalBars
              rows={(audiences.data?.items ?? []).map((a: Json) => ({
                label: a.name,
                value: a.members,
                color: '#12b886',
              }))}
              format={number}
            />
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder h="100%">
            <Title order={4} mb="sm">
              {t('overview.consents')}
            </Title>
            <ConsentTable consents={s?.consents ?? []} />
          </Card>
        </Grid.Col>
        {rfm.data?.configured && (
          <Grid.Col span={12}>
            <Card withBorder>
              <Title order={4} mb="sm">
                {t('overview.rfm')}
              </Title>
              <Group align="start" gap="xl">
                <RfmGrid grid={rfm.data.grid} label={t('overview.rfm')} />
                <Stack gap={2}>
                  {Object.entries(rfm.data.segments as Record<string, number>)
                    .sort((a, b) => b[1] - a[1])
                    .map(([segment, n]) => (
                      <Text key={segment} size="sm">
                        {segment}: <b>{number(n)}</b>
                      </Text>
                    ))}
                </Stack>
              </Group>
            </Card>
          </Grid.Col>
        )}
      </Grid>
    </Stack>
  );
}
