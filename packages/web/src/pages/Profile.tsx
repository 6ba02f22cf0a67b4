import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Grid,
  Group,
  Loader,
  Modal,
  Stack,
  Table,
  Text,
  TextInput,
  Timeline,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, get, type Json, query } from '../api';
import { can, type Me } from '../auth';
import { useI18n } from '../i18n';
import { displayName } from './Profiles';

const show = (v: unknown) =>
  v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** Why two profiles were linked: the shared identifiers of a deterministic merge, else the evidence as recorded. */
function explain(evidence: Json, linkedBy: string): string {
  const links: Json[] | undefined = evidence?.linkedBy;
  if (Array.isArray(links)) return `${linkedBy} ${links.map((l) => `${l.type} ${l.value}`).join(', ')}`;
  return show(evidence);
}

/** Source names by public id, when the role may list sources (else the ids are shown). */
function useSourceNames(me: Me) {
  const sources = useQuery<Json>({
    queryKey: ['sources'],
    queryFn: () => get('/v1/sources'),
    enabled: can(me, 'sources.read'),
    staleTime: 300_000,
  });
  const names = new Map<string, string>((sources.data?.items ?? []).map((s: Json) => [s.id, s.name]));
  return (id: string | null | undefined) => (id ? (names.get(id) ?? `${id.slice(0, 12)}…`) : '—');
}

/** The 360° view (issue 8): golden record with sources and history, identity graph, timeline, audiences, consents. */
export function Profile({ id, me }: { id: string; me: Me }) {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const sourceName = useSourceNames(me);
  const [asOfDay, setAsOfDay] = useState('');
  const asOf = asOfDay ? new Date(`${asOfDay}T23:59:59Z`).toISOString() : undefined;
  const base = `/v1/profiles/${encodeURIComponent(id)}`;
  const profile = useQuery<Json>({ queryKey: ['profile', id, asOf], queryFn: () => get(`${base}${query({ asOf })}`) });
  const events = useQuery<Json>({ queryKey: ['events', id], queryFn: () => get(`${base}/events?limit=100`) });
  const identities = useQuery<Json>({ queryKey: ['identities', id], queryFn: () => get(`${base}/identities`) });
  const merges = useQuery<Json>({ queryKey: ['merges', id], queryFn: () => get(`${base}/merges`) });
  const audiences = useQuery<Json>({
    queryKey: ['profile-audiences', id],
    queryFn: () => get(`${base}/audiences`),
    enabled: can(me, 'audiences.read'),
  });
  const accounts = useQuery<Json>({ queryKey: ['accounts', id], queryFn: () => get(`${base}/accounts`) });
  const deliveries = useQuery<Json>({
    queryKey: ['profile-deliveries', id],
    queryFn: () => get(`${base}/deliveries?limit=20`),
    enabled: can(me, 'destinations.read'),
  });
  const computed = useQuery<Json>({
    queryKey: ['computed', id],
    queryFn: () => get(`${base}/computed-traits`),
    enabled: can(me, 'audiences.read'),
  });

  const unmerge = useMutation({
    mutationFn: (mergedId: string) => api('POST', `${base}/unmerge`, { profileIds: [mergedId], reason: 'web app' }),
    onSuccess: () => client.invalidateQueries({ predicate: (q) => q.queryKey[1] === id }),
  });

  const [historyOf, setHistoryOf] = useState<string | null>(null);
  const history = useQuery<Json>({
    queryKey: ['history', id, historyOf],
    queryFn: () => get(`${base}/history${query({ trait: historyOf ?? undefined })}`),
    enabled: historyOf !== null,
  });

  if (profile.isPending) return <Loader />;
  if (profile.isError) return <Alert color="red">{t('common.error', { message: profile.error.message })}</Alert>;
  const p = profile.data;
  const traits = Object.entries(p.traits ?? {});
  return (
    <Stack>
      <Group justify="space-between" align="end">
        <div>
          <Text c="dimmed" size="sm">
            {t('profile.title')}
          </Text>
          <Title order={2} data-testid="profile-name">
            {displayName(p.traits)}
          </Title>
          <Code>{p.id}</Code>
        </div>
        <TextInput
          type="date"
          label={t('profile.asOf')}
          value={asOfDay}
          onChange={(e) => setAsOfDay(e.currentTarget.value)}
          description={asOfDay ? undefined : t('profile.now')}
        />
      </Group>
      <Modal
        opened={historyOf !== null}
        onClose={() => setHistoryOf(null)}
        title={t('profile.history', { trait: historyOf ?? '' })}
        size="xl"
      >
        <Table data-testid="trait-history">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('profile.value')}</Table.Th>
              <Table.Th>{t('profile.validFrom')}</Table.Th>
              <Table.Th>{t('profile.validTo')}</Table.Th>
              <Table.Th>{t('common.source')}</Table.Th>
              <Table.Th>{t('profile.recordedAt')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(history.data?.items ?? []).map((h: Json, i: number) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: intervals have no id of their own
              <Table.Tr key={i} c={h.supersededAt ? 'dimmed' : undefined}>
                <Table.Td>{show(h.value)}</Table.Td>
                <Table.Td>{dateTime(h.validFrom)}</Table.Td>
                <Table.Td>{h.validTo ? dateTime(h.validTo) : '—'}</Table.Td>
                <Table.Td>{sourceName(h.sourceId)}</Table.Td>
                <Table.Td>
                  {dateTime(h.recordedAt)}
                  {h.supersededAt ? ` → ${dateTime(h.supersededAt)}` : ''}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Modal>
      {!me.seesPii && (
        <Alert color="gray" variant="light">
          {t('common.masked')}
        </Alert>
      )}
      <Grid>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Card withBorder>
            <Title order={4} mb="sm">
              {t('profile.traits')}
            </Title>
            <Table data-testid="traits">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('profile.trait')}</Table.Th>
                  <Table.Th>{t('profile.value')}</Table.Th>
                  <Table.Th>{t('common.source')}</Table.Th>
                  <Table.Th>{t('profile.observedAt')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {traits.map(([k, v]) => {
                  const s = p.traitSources?.[k];
                  return (
                    <Table.Tr key={k}>
                      <Table.Td>
                        <Anchor component="button" type="button" size="sm" onClick={() => setHistoryOf(k)}>
                          {k}
                        </Anchor>
                      </Table.Td>
                      <Table.Td>{show(v)}</Table.Td>
                      <Table.Td>
                        {sourceName(s?.sourceId)}
                        {s && (
                          <Badge ml="xs" size="xs" variant="light">
                            {s.rule}
                          </Badge>
                        )}
                      </Table.Td>
                      <Table.Td>{dateTime(s?.observedAt)}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Card>
          <Card withBorder mt="md">
            <Title order={4} mb="sm">
              {t('profile.timeline')}
            </Title>
            {(events.data?.items ?? []).length === 0 ? (
              <Text c="dimmed">{t('profile.noEvents')}</Text>
            ) : (
              <Timeline bulletSize={14} lineWidth={2} data-testid="timeline">
                {(events.data?.items ?? []).map((e: Json) => (
                  <Timeline.Item key={e.id} title={`${e.type}${e.event || e.name ? ` · ${e.event ?? e.name}` : ''}`}>
                    <Text size="xs" c="dimmed">
                      {dateTime(e.timestamp)} · {sourceName(e.sourceId)}
                    </Text>
                    {Object.keys(e.properties ?? {}).length > 0 && (
                      <Text size="xs" lineClamp={2}>
                        {show(e.properties)}
                      </Text>
                    )}
                  </Timeline.Item>
                ))}
              </Timeline>
            )}
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Card withBorder>
            <Title order={4} mb="sm">
              {t('profile.identities')}
            </Title>
            <Stack gap={4} data-testid="identities">
              {(identities.data?.items ?? []).map((i: Json) => (
                <Text key={`${i.type}:${i.value}`} size="sm">
                  <Badge size="xs" mr="xs">
                    {i.type}
                  </Badge>
                  {i.value}
                  <Text span size="xs" c="dimmed">
                    {' '}
                    · {sourceName(i.sourceId)} · {t('profile.firstSeen')} {dateTime(i.firstSeenAt)}
                  </Text>
                </Text>
              ))}
            </Stack>
            {(merges.data?.items ?? []).length > 0 && (
              <>
                <Text fw={600} mt="sm" size="sm">
                  {t('profile.merged')}
                </Text>
                {(merges.data?.items ?? []).map((m: Json) => (
                  <Group key={m.id} gap="xs" wrap="nowrap" align="start">
                    <Text size="xs" style={{ flex: 1 }}>
                      {m.mergedId} · <Badge size="xs">{m.rule}</Badge> {explain(m.evidence, t('profile.linkedBy'))}
                    </Text>
                    {can(me, 'identity.manage') && !m.unmergedAt && (
                      <Button
                        size="compact-xs"
                        variant="light"
                        color="orange"
                        onClick={() => unmerge.mutate(m.mergedId)}
                      >
                        {t('profile.unmerge')}
                      </Button>
                    )}
                  </Group>
                ))}
                {unmerge.isError && <Alert color="red">{unmerge.error.message}</Alert>}
              </>
            )}
          </Card>
          <Card withBorder mt="md">
            <Title order={4} mb="sm">
              {t('profile.audiences')}
            </Title>
            <Stack gap={4} data-testid="profile-audiences">
              {(audiences.data?.items ?? []).length === 0 && <Text c="dimmed">{t('common.none')}</Text>}
              {(audiences.data?.items ?? []).map((a: Json) => (
                <Text key={a.audienceKey} size="sm">
                  {a.name ?? a.audienceKey}{' '}
                  <Text span size="xs" c="dimmed">
                    {t('profile.enteredAt', { date: dateTime(a.enteredAt) })}
                  </Text>
                </Text>
              ))}
            </Stack>
          </Card>
          <Card withBorder mt="md">
            <Title order={4} mb="sm">
              {t('profile.consents')}
            </Title>
            {(p.consents ?? []).length === 0 && <Text c="dimmed">{t('common.none')}</Text>}
            {(p.consents ?? []).map((c: Json) => (
              <Text key={c.purpose} size="sm">
                {c.purpose}:{' '}
                <Badge color={c.granted ? 'green' : 'red'} size="sm">
                  {c.granted ? t('profile.granted') : t('profile.refused')}
                </Badge>{' '}
                <Text span size="xs" c="dimmed">
                  {c.legalBasis} · {dateTime(c.since)}
                </Text>
              </Text>
            ))}
          </Card>
          {(accounts.data?.items ?? []).length > 0 && (
            <Card withBorder mt="md">
              <Title order={4} mb="sm">
                {t('profile.accounts')}
              </Title>
              {(accounts.data?.items ?? []).map((a: Json) => (
                <Text key={a.id} size="sm">
                  {a.traits?.name ?? a.groupId}{' '}
                  <Text span size="xs" c="dimmed">
                    {a.groupId}
                  </Text>
                </Text>
              ))}
            </Card>
          )}
          {(deliveries.data?.items ?? []).length > 0 && (
            <Card withBorder mt="md" data-testid="profile-deliveries">
              <Title order={4} mb="sm">
                {t('profile.deliveries')}
              </Title>
              {(deliveries.data?.items ?? []).map((d: Json) => (
                <Text key={d.id} size="xs">
                  <Badge size="xs" color={d.status === 'delivered' ? 'green' : d.status === 'dead' ? 'red' : 'gray'}>
                    {d.status}
                  </Badge>{' '}
                  {d.kind} · {dateTime(d.createdAt)}
                </Text>
              ))}
            </Card>
          )}
          {computed.data && Object.keys(computed.data.values ?? {}).length > 0 && (
            <Card withBorder mt="md">
              <Title order={4} mb="sm">
                {t('profile.computed')}
              </Title>
              {Object.entries(computed.data.values).map(([k, v]) => (
                <Text key={k} size="sm">
                  {k}: {show(v)}
                </Text>
              ))}
            </Card>
          )}
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
