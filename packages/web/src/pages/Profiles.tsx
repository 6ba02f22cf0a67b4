import { Alert, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'wouter';
import { get, type Json, query } from '../api';
import { useI18n } from '../i18n';

/** A person's display name from their golden-record traits. */
export function displayName(traits: Json): string {
  const name = traits?.name ?? [traits?.firstName, traits?.lastName].filter(Boolean).join(' ');
  return name || traits?.email || '—';
}

export function Profiles() {
  const { t, dateTime } = useI18n();
  const [input, setInput] = useState(() => new URLSearchParams(location.search).get('q') ?? '');
  const [q, setQ] = useState(input);
  const result = useQuery<Json>({
    queryKey: ['profiles', q],
    queryFn: () => get(`/v1/profiles${query({ q, limit: 50 })}`),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQ(input.trim());
    history.replaceState(null, '', `/profiles${query({ q: input.trim() })}`);
  };
  const items: Json[] = result.data?.items ?? [];
  return (
    <Stack>
      <Title order={2}>{t('profiles.title')}</Title>
      <Group component="form" onSubmit={submit} align="end">
        <TextInput
          style={{ flex: 1 }}
          label={t('profiles.search')}
          name="q"
          value={input}
          onChange={(e) => setInput(e.currentTarget.value)}
        />
        <Button type="submit">{t('profiles.searchButton')}</Button>
      </Group>
      {result.isError && <Alert color="red">{t('common.error', { message: result.error.message })}</Alert>}
      {result.isSuccess && items.length === 0 && <Text>{t('profiles.noResult')}</Text>}
      {items.length > 0 && (
        <Table striped highlightOnHover data-testid="profile-results">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('profiles.name')}</Table.Th>
              <Table.Th>{t('profiles.email')}</Table.Th>
              <Table.Th>{t('profiles.updated')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td>
                  <Link href={`/profiles/${p.id}`}>{displayName(p.traits)}</Link>
                </Table.Td>
                <Table.Td>{p.traits?.email ?? '—'}</Table.Td>
                <Table.Td>{dateTime(p.updatedAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
