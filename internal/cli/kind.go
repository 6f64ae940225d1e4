package cli

// The lifecycle verbs of the data plane (show, list, list-versions, delete, show-deleted,
// list-deleted, recover, purge, backup, restore) are written once, one file each
// (object_*.go), over a kind: the row of what differs between secrets, keys and
// certificates. The rows are secretKind (secret.go), keyKind (key.go) and
// certificateKind (certificate.go); a fourth kind of object would be a fourth row.

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// kind is one kind of data-plane object, as the lifecycle verbs need to know it.
type kind struct {
	name   string // secret, key, certificate: the command group, and the word of the hints and URL paths
	sample string // the object name of the help's examples

	// open binds the kind's SDK calls to the SDK client of a vault.
	open func(c *client, ctx context.Context, vault string) (objectCalls, error)

	// The -o table columns: of the items of list and list-versions; of what show prints;
	// of the object recover and restore bring back; of one deleted object (delete,
	// show-deleted). list-deleted prints every kind's deleted objects alike
	// (deletedListColumns).
	itemColumns, showColumns, objectColumns, deletedColumns columns

	// listFlag is list's own bool flag and its usage: what else the list may show.
	listFlag, listFlagUsage string

	// purgeLong is the first paragraph of purge's help: what is lost for good.
	// purgeQuestion follows the object's name in the question purge asks on a terminal.
	purgeLong, purgeQuestion string

	// help holds the kind's own help texts, by verb; a verb without one, or a text left
	// empty, gets the verb's common text.
	help map[string]cmdHelp
}

// objectCalls are one kind's SDK calls on one vault, each answering az's JSON. Each is
// the SDK call and the conversion of its response, without a branch: on an error the
// answer is that of an empty response, which no verb prints.
type objectCalls struct {
	get          func(ctx context.Context, name, version string) (map[string]any, error)
	list         func(ctx context.Context, withListFlag bool, max maxResults) ([]map[string]any, error)
	listVersions func(ctx context.Context, name string, max maxResults) ([]map[string]any, error)
	listDeleted  func(ctx context.Context, max maxResults) ([]map[string]any, error)
	delete       func(ctx context.Context, name string) (*deletedObject, error)
	getDeleted   func(ctx context.Context, name string) (*deletedObject, error)
	recover      func(ctx context.Context, name string) (map[string]any, error)
	purge        func(ctx context.Context, name string) error
	backup       func(ctx context.Context, name string) ([]byte, error)
	restore      func(ctx context.Context, blob []byte) (map[string]any, error)
}

// kinds are the rows, by name, for the code that is handed a kind's name (the hints of
// deleted.go).
var kinds = map[string]*kind{kindSecret: secretKind, kindKey: keyKind, kindCertificate: certificateKind}

// group is the kind's command group (coffer secret, key, certificate): the kind's own
// commands and the lifecycle verbs.
func (k *kind) group(h cmdHelp, own ...*cobra.Command) *cobra.Command {
	return newGroup(k.name, h, append(own,
		newShowCommand(k), newListCommand(k), newListVersionsCommand(k), newDeleteCommand(k), newShowDeletedCommand(k),
		newListDeletedCommand(k), newRecoverCommand(k), newPurgeCommand(k), newBackupCommand(k), newRestoreCommand(k),
	)...)
}

// command builds a lifecycle verb of the kind. Its help is the kind's own text for the
// verb where the row has one, else the verb's common text; in both, {kind} stands for the
// kind's name and {sample} for the examples' object name.
func (k *kind) command(s dataSpec[objectCalls]) *cobra.Command {
	own := k.help[s.verb]
	pick := func(own, common string) string {
		if own != "" {
			common = own
		}
		return strings.NewReplacer("{kind}", k.name, "{sample}", k.sample).Replace(common)
	}
	s.help = cmdHelp{short: pick(own.short, s.help.short), long: pick(own.long, s.help.long), example: pick(own.example, s.help.example)}
	s.kind, s.open = k.name, k.open
	return newDataCommand(s)
}

// listing builds a lifecycle verb that lists (list, list-versions, list-deleted): it takes
// --maxresults and prints what list answers with cols; an error is explained for the
// object the target names (none, for a vault).
func (k *kind) listing(s dataSpec[objectCalls], cols columns, list func(r *dataRun[objectCalls], max maxResults) ([]map[string]any, error)) *cobra.Command {
	max, flags := &maxResults{}, s.flags
	s.flags = func(fs *pflag.FlagSet) {
		max.AddFlags(fs)
		if flags != nil {
			flags(fs)
		}
	}
	s.run = func(r *dataRun[objectCalls]) error {
		out, err := list(r, *max)
		if err != nil {
			return r.explainObject(err, r.name)
		}
		return printList(r.cmd, r.output, out, cols)
	}
	return k.command(s)
}

// bind makes a kind's open: it opens the vault's SDK client and binds calls to it.
func bind[C any](open func(*client, context.Context, string) (C, error), calls func(C) objectCalls) func(*client, context.Context, string) (objectCalls, error) {
	return func(c *client, ctx context.Context, vault string) (objectCalls, error) {
		sc, err := open(c, ctx, vault)
		if err != nil {
			return objectCalls{}, err
		}
		return calls(sc), nil
	}
}

// collect lists with an SDK pager, items turning a page into az's JSON, until the pages
// end or max is reached; it fetches no page once max is reached.
func collect[P any](ctx context.Context, pager *runtime.Pager[P], max maxResults, items func(P) []map[string]any) ([]map[string]any, error) {
	var out []map[string]any
	for pager.More() && !max.full(len(out)) {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range items(page) {
			if !max.full(len(out)) {
				out = append(out, m)
			}
		}
	}
	return nonNil(out), nil
}

// each is the JSON of a page's items; nil items, and those f answers nil for, are left out.
func each[T any](items []*T, f func(*T) map[string]any) []map[string]any {
	var out []map[string]any
	for _, it := range items {
		if it == nil {
			continue
		}
		if m := f(it); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// isTrue is an SDK's optional bool: true only when it is set and true.
func isTrue(b *bool) bool { return b != nil && *b }
