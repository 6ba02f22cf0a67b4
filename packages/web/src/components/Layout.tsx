import { AppShell, Burger, Button, Group, NavLink, SegmentedControl, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { api } from '../api';
import { can, type Me } from '../auth';
import { type Lang, type MessageKey, useI18n } from '../i18n';

/** The navigation: each entry shows only to roles holding its permission (docs/access-control.md). */
const NAV: { href: string; label: MessageKey; permission: string }[] = [
  { href: '/', label: 'nav.overview', permission: 'profiles.read' },
  { href: '/profiles', label: 'nav.profiles', permission: 'profiles.read' },
  { href: '/audiences', label: 'nav.audiences', permission: 'audiences.read' },
  { href: '/sources', label: 'nav.sources', permission: 'sources.read' },
  { href: '/destinations', label: 'nav.destinations', permission: 'destinations.read' },
  { href: '/identity', label: 'nav.review', permission: 'identity.read' },
  { href: '/privacy', label: 'nav.privacy', permission: 'settings.read' },
  { href: '/settings', label: 'nav.settings', permission: 'settings.read' },
];

export function Layout({ me, children }: { me: Me; children: ReactNode }) {
  const { t, lang, setLang } = useI18n();
  const [opened, { toggle }] = useDisclosure();
  const [location] = useLocation();
  const client = useQueryClient();
  const signOut = async () => {
    await api('DELETE', '/v1/sessions/current').catch(() => undefined);
    client.setQueryData(['me'], null);
    client.removeQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
  };
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="menu" />
            <Title order={3}>{t('app.name')}</Title>
          </Group>
          <Group>
            <SegmentedControl
              aria-label={t('lang.label')}
              data-testid="language"
              size="xs"
              value={lang}
              onChange={(v) => setLang(v as Lang)}
              data={[
                { value: 'en', label: 'EN' },
                { value: 'fr', label: 'FR' },
              ]}
            />
            <Text size="sm" visibleFrom="sm">
              {me.user?.name ?? me.roles.join(', ')}
            </Text>
            <Button variant="subtle" size="xs" onClick={signOut}>
              {t('nav.signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {NAV.filter((n) => can(me, n.permission)).map((n) => (
          <NavLink
            key={n.href}
            component={Link}
            href={n.href}
            label={t(n.label)}
            active={n.href === '/' ? location === '/' : location.startsWith(n.href)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}
