/** Users (admins only): create with a role, change roles, deactivate/reactivate, delete. Your own
 * row has no controls: nobody can demote, deactivate or delete themselves. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { users } from "../api/endpoints";
import type { Role } from "../api/types";
import { useAuth } from "../auth/AuthProvider";
import { ErrorBox, Loading, PageHeader } from "../components/ui";
import { Timestamp } from "../components/Timestamp";

const ROLES: { value: Role; label: string }[] = [
  { value: "viewer", label: "Viewer" },
  { value: "admin", label: "Admin" },
];

export default function UsersPage() {
  const qc = useQueryClient();
  const { userId } = useAuth();
  const list = useQuery({ queryKey: ["users"], queryFn: users.list, staleTime: 2000 });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const refresh = () => void qc.invalidateQueries({ queryKey: ["users"] });
  const create = useMutation({
    mutationFn: () => users.create(email, password, role),
    onSuccess: () => {
      setEmail("");
      setPassword("");
      setRole("viewer");
      refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, change }: { id: string; change: { role?: Role; is_active?: boolean } }) =>
      users.update(id, change),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (id: string) => users.remove(id), onSuccess: refresh });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <div className="page">
      <PageHeader
        title="Users"
        sub="Admins manage users, API keys and the playground. Viewers read services, traces and workflows."
      />
      <form className="card row gap wrap" onSubmit={submit} aria-label="Create user">
        <label className="grow">
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="grow">
          Password
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit" disabled={create.isPending}>
          Create User
        </button>
        <ErrorBox error={create.error} />
      </form>
      <ErrorBox error={update.error} />
      <ErrorBox error={remove.error} />
      {list.isLoading ? (
        <Loading />
      ) : list.error ? (
        <ErrorBox error={list.error} />
      ) : (
        <table className="table" aria-label="Users">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.data?.map((u) => {
              const self = u.id === userId;
              return (
                <tr key={u.id}>
                  <td>
                    {u.email}
                    {self ? <span className="muted small"> (you)</span> : null}
                  </td>
                  <td>
                    {self ? (
                      u.role
                    ) : (
                      <select
                        aria-label={`Role of ${u.email}`}
                        value={u.role}
                        disabled={update.isPending}
                        onChange={(e) =>
                          update.mutate({ id: u.id, change: { role: e.target.value as Role } })
                        }
                      >
                        {ROLES.map((r) => (
                          <option key={r.value} value={r.value}>
                            {r.label}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td>{u.is_active ? "Active" : "Deactivated"}</td>
                  <td>
                    <Timestamp iso={u.created_at} />
                  </td>
                  <td className="right">
                    {self ? null : (
                      <span className="row gap">
                        <button
                          type="button"
                          className="btn btn-xs"
                          aria-label={`${u.is_active ? "Deactivate" : "Reactivate"} user ${u.email}`}
                          disabled={update.isPending}
                          onClick={() => update.mutate({ id: u.id, change: { is_active: !u.is_active } })}
                        >
                          {u.is_active ? "Deactivate" : "Reactivate"}
                        </button>
                        <button
                          type="button"
                          className="btn btn-danger btn-xs"
                          aria-label={`Delete user ${u.email}`}
                          onClick={() => window.confirm(`Delete user ${u.email}?`) && remove.mutate(u.id)}
                        >
                          Delete
                        </button>
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
