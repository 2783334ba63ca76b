/**
 * Last line of defence: a page that throws while rendering (unexpected telemetry shape, a bug)
 * shows the error and a way on, instead of blanking the whole app. Reset when the URL changes.
 */
import { Component, type ReactNode } from "react";

interface Props {
  children: ReactNode;
  resetKey: string;
}

interface State {
  error: Error | null;
  key: string;
}

export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null, key: this.props.resetKey };

  static getDerivedStateFromError(error: Error): Partial<State> {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="page">
        <div className="alert alert-error" role="alert">
          <strong>This page failed to render:</strong> {this.state.error.message}
        </div>
        <p>
          <button type="button" className="btn" onClick={() => window.location.reload()}>
            Reload
          </button>{" "}
          <a href="/">Go to services</a>
        </p>
      </div>
    );
  }
}
