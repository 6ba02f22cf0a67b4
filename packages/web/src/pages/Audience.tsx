import { Anchor, Badge, Button, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { get, type Json } from '../api';
import { StackedBars } from '../components/Charts';
import { useI18n } from '../i18n';

/** One audience (issue 8): its readable definition, size over time, members and CSV export. */
export function Audience({ audienceKey }: { audienceKey: string }) {
  const { t, lang, number, dateTime } = useI18n();
  const base = `/v1/audiences/${encodeURIComponent(audienceKey)}`;
  const audience = useQuery<Json>({ queryKey: ['audience', audienceKey], queryFn: () => get(base) });
  const sizes = useQuery<Json>({ queryKey: ['sizes', audienceKey], queryFn: () => get(`${base}/sizes?days=30`) });
  const members = useQuery<Json>({
    queryKey: ['members', audienceKey],
    queryFn: () => get(`${base}/members?limit=50`),
  });
  const a = audience.data;
  const days: string[] = (sizes.data?.items ?? []).map((s: Json) => s.day);
  const values = new Map<string, number>((sizes.data?.items ?? []).map((s: Json) => [s.day, s.members]));
  return (
    <Stack>
      <Group justify="space-between">
        <div>
          <Title order={2}>{a?.name ?? audienceKey}</Title>
          <Text c="dimmed" size="sm">
            {a?.summary?.[lang] ?? a?.summary?.en}
          </Text>
        </div>
        <Group>
          {a && <Badge>{t('audience.members', { count: number(a.members) })}</Badge>}
          <Button component="a" href={`${base}/members?format=csv`} download={`${audienceKey}.csv`} variant="light">
            {t('audience.export')}
          </Button>
        </Group>
      </Group>
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('audience.sizeOverTime')}
        </Title>
        <StackedBars
          label={t('audience.sizeOverTime')}
          days={days}
          series={[{ key: 'members', label: t('audiences.members'), values }]}
        />
      </Card>
      <Card withBorder>
        <Title order={4} mb="sm">
          {t('audiences.members')}
        </Title>
        <Table data-testid="members">
          <Table.Tbody>
            {(members.data?.items ?? []).map((m: Json) => (
              <Table.Tr key={m.profileId}>
                <Table.Td>
                  <Anchor component={Link} href={`/profiles/${m.profileId}`}>
                    {m.profileId}
                  </Anchor>
                </Table.Td>
                <Table.Td>{t('profile.enteredAt', { date: dateTime(m.enteredAt) })}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
    </Stack>
  );
}
