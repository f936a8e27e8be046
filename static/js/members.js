// Settings > Members: who may work in the project. Members add the organization's users
// (or create one), and remove members; the last member stays.

import { api, get } from './api.js';
import { h, fill, confirmDialog, toast } from './dom.js';
import { navigate } from './layout.js';

/** The Members section of a project's settings; it loads and redraws itself. */
export function membersSection(projectId) {
  const section = h('section', { class: 'members', 'aria-busy': 'true' },
    h('h2', { class: 'section-title' }, 'Members'), h('p', { class: 'muted' }, 'Loading…'));
  const status = h('p', { class: 'form-status', role: 'status' });

  async function load() {
    const [members, users, me] = await Promise.all([
      get(`/api/projects/${projectId}/members/`),
      get('/api/users/'),
      get('/api/current-user/whoami'),
    ]);
    draw(members.map((m) => m.user), users, me);
  }

  function draw(members, users, me) {
    const memberIds = new Set(members.map((u) => u.id));
    const others = users.filter((u) => !memberIds.has(u.id));
    const picker = h('select', { name: 'user', 'aria-label': 'User to add' },
      others.map((u) => h('option', { value: u.id }, label(u))));
    const email = h('input', { name: 'email', type: 'email', placeholder: 'new.user@example.com', 'aria-label': 'New user e-mail' });
    const password = h('input', { name: 'password', type: 'password', placeholder: 'Password (8+ characters)', 'aria-label': 'New user password' });
    section.removeAttribute('aria-busy');
    fill(section,
      h('h2', { class: 'section-title' }, 'Members'),
      h('p', { class: 'muted' }, 'Only members see this project, its tasks, annotations and storages.'),
      h('ul', { class: 'member-list' }, members.map((u) => h('li', { class: 'member-row' },
        h('span', {}, label(u), u.id === me.id ? h('span', { class: 'muted' }, ' (you)') : null),
        h('button', {
          class: 'outline small', disabled: members.length === 1,
          title: members.length === 1 ? 'The last member stays' : null,
          onclick: () => remove(u, me),
        }, 'Remove')))),
      others.length ? h('div', { class: 'row' }, picker,
        h('button', { class: 'outline', onclick: () => add(Number(picker.value)) }, 'Add member')) : null,
      h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); create(email.value, password.value); } },
        email, password, h('button', { class: 'outline', type: 'submit' }, 'Create user and add')),
      status);
  }

  const label = (u) => [u.first_name, u.last_name].filter(Boolean).join(' ') || u.email;

  async function act(action, done) {
    status.className = 'form-status';
    status.textContent = '';
    try {
      await action();
      toast(done);
      await load();
    } catch (err) {
      status.className = 'form-status error';
      status.textContent = err.message;
    }
  }

  const add = (userId) => act(() => api('POST', `/api/projects/${projectId}/members/`, { user: userId }), 'Member added');

  const create = (email, password) => act(async () => {
    const user = await api('POST', '/api/users/', { email, password });
    await api('POST', `/api/projects/${projectId}/members/`, { user: user.id });
  }, `User ${email} created and added`);

  async function remove(user, me) {
    const leaving = user.id === me.id;
    const question = leaving ? 'You will no longer see this project.' : `${label(user)} will no longer see this project.`;
    if (!await confirmDialog(leaving ? 'Leave project' : 'Remove member', question, 'Remove')) return;
    if (leaving) {
      await api('DELETE', `/api/projects/${projectId}/members/${user.id}/`);
      toast('You left the project');
      navigate('/projects', { replace: true });
      return;
    }
    await act(() => api('DELETE', `/api/projects/${projectId}/members/${user.id}/`), 'Member removed');
  }

  load().catch((err) => {
    fill(section, h('h2', { class: 'section-title' }, 'Members'), h('p', { class: 'error', role: 'alert' }, err.message));
  });
  return section;
}
