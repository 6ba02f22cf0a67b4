import { Anchor, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { get, type Json } from '../api';
import { useI18n } from '../i18n';

export function Audiences() {
  const { t, lang, number } = useI18n();
  const list = useQuery<Json>({ queryKey: ['audiences'], queryFn: () => get('/v1/audiences') });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('audiences.title')}</Title>
        <Button component={Link} href="/audiences/new">
          {t('audiences.new')}
        </Button>
      </Group>
      <Table striped data-testid="audience-list">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('audiences.name')}</Table.Th>
            <Table.Th>{t('audiences.members')}</Table.Th>
            <Table.Th>{t('audiences.summary')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(list.data?.items ?? []).map((a: Json) => (
            <Table.Tr key={a.key}>
              <Table.Td>
                <Anchor component={Link} href={`/audiences/${a.key}`} fw={600}>
                  {a.name}
                </Anchor>
                <Text size="xs" c="dimmed">
                  {a.key}
                </Text>
              </Table.Td>
              <Table.Td>{number(a.members)}</Table.Td>
              <Table.Td>{a.summary?.[lang] ?? a.summary?.en}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
