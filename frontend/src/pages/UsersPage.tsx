/** Users: list, create, delete. Every user has full access (no roles). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { users } from "../api/endpoints";
import { ErrorBox, Loading, PageHeader } from "../components/ui";
import { Timestamp } from "../components/Timestamp";

export default function UsersPage() {
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ["users"], queryFn: users.list, staleTime: 2000 });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const create = useMutation({
    mutationFn: () => users.create(email, password),
    onSuccess: () => {
      setEmail("");
      setPassword("");
      void qc.invalidateQueries({ queryKey: ["users"] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => users.remove(id),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["users"] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <div className="page">
      <PageHeader title="Users" sub="Every user has complete access. There are no roles or permissions." />
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
        <button className="btn btn-primary" type="submit" disabled={create.isPending}>
          Create User
        </button>
        <ErrorBox error={create.error} />
      </form>
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
              <th>ID</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.data?.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>
                  <code>{u.id}</code>
                </td>
                <td>
                  <Timestamp iso={u.created_at} />
                </td>
                <td className="right">
                  <button
                    type="button"
                    className="btn btn-danger btn-xs"
                    aria-label={`Delete user ${u.email}`}
                    onClick={() => window.confirm(`Delete user ${u.email}?`) && remove.mutate(u.id)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
